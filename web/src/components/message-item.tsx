import { memo } from 'preact/compat';
import { useState } from 'preact/hooks';
import type { Message } from '../../../src/client/index.js';
import type { ChatModel } from '../chat-model.js';
import { fullLabel, timeLabel } from '../format.js';
import { AttachmentView } from './attachment-view.js';
import { Avatar } from './avatar.js';
import { Icon } from './icon.js';
import { RichText } from './rich-text.js';

/** The reactions offered with one click. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '👀'];

/** Props of MessageItem. */
export interface MessageItemProps {
  readonly m: Message;
  readonly model: ChatModel;
  /** Author and time above the text (the first of a run by one author). */
  readonly showHeader: boolean;
  /** The message this one answers, when loaded. */
  readonly parent: Message | undefined;
  readonly canPost: boolean;
  readonly canModerate: boolean;
  readonly onReply: (m: Message) => void;
}

/** One stored message: text as text, edited/deleted markers, reactions, reply, own actions. */
export const MessageItem = memo(function MessageItem({
  m,
  model,
  showHeader,
  parent,
  canPost,
  canModerate,
  onReply,
}: MessageItemProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.text);
  const [confirming, setConfirming] = useState(false);
  const [picking, setPicking] = useState(false);
  const mine = m.user_id === model.me.id;
  const deleted = m.deleted === true;

  const save = async () => {
    const text = draft.trim();
    if (text === '' || text === m.text) return setEditing(false);
    // On failure the draft stays open (the notice says why).
    if (await model.edit(m.channel, m.id, text)) setEditing(false);
  };

  return (
    <li
      class={`message${showHeader ? ' with-header' : ''}${mine ? ' mine' : ''}`}
      data-seq={m.seq}
      data-id={m.id}
    >
      {showHeader ? (
        <Avatar userId={m.user_id} name={m.username} />
      ) : (
        <time class="gutter-time" dateTime={new Date(m.ts).toISOString()} title={fullLabel(m.ts)}>
          {timeLabel(m.ts)}
        </time>
      )}
      <div class="body">
        {showHeader && (
          <div class="meta">
            <span class="author" title={m.user_id}>
              {m.username}
            </span>
            <time dateTime={new Date(m.ts).toISOString()} title={fullLabel(m.ts)}>
              {timeLabel(m.ts)}
            </time>
          </div>
        )}
        {m.reply_to !== undefined && (
          <div class="reply-quote">
            <Icon name="replied" />{' '}
            {parent === undefined ? (
              'in reply to an earlier message'
            ) : (
              <>
                <span class="author">{parent.username}</span>{' '}
                <span class="quote-text">
                  {parent.deleted ? 'deleted message' : parent.text.slice(0, 140)}
                </span>
              </>
            )}
          </div>
        )}
        {deleted ? (
          <p class="text deleted">This message was deleted.</p>
        ) : editing ? (
          <div class="edit">
            <textarea
              aria-label="Edit message"
              value={draft}
              rows={Math.min(8, draft.split('\n').length + 1)}
              onInput={(e) => setDraft(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                  e.preventDefault();
                  void save();
                } else if (e.key === 'Escape') {
                  setEditing(false);
                }
              }}
              // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this message
              autoFocus
            />
            <div class="row">
              <button type="button" class="primary small" onClick={() => void save()}>
                Save
              </button>
              <button type="button" class="small" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </div>
          </div>
        ) : (
          <p class="text">
            <RichText text={m.text} me={model.me.username} />
            {m.edited_at !== undefined && (
              <span class="edited" title={`Edited ${fullLabel(m.edited_at)}`}>
                {' '}
                (edited)
              </span>
            )}
          </p>
        )}
        {!deleted && m.attachments !== undefined && (
          <AttachmentView model={model} channelId={m.channel} attachments={m.attachments} />
        )}
        {!deleted && (m.reactions?.length ?? 0) > 0 && (
          <div class="reactions">
            {m.reactions?.map((r) => {
              const pressed = r.user_ids.includes(model.me.id);
              return (
                <button
                  type="button"
                  key={r.emoji}
                  class={`reaction${pressed ? ' pressed' : ''}`}
                  aria-pressed={pressed}
                  aria-label={`${r.emoji} ${r.count}`}
                  disabled={!canPost}
                  onClick={() => void model.react(m.channel, m.id, r.emoji)}
                >
                  {r.emoji} <span class="count">{r.count}</span>
                </button>
              );
            })}
          </div>
        )}
        {picking && (
          <div class="picker">
            {QUICK_REACTIONS.map((emoji) => (
              <button
                type="button"
                key={emoji}
                aria-label={`React with ${emoji}`}
                onClick={() => {
                  setPicking(false);
                  void model.react(m.channel, m.id, emoji);
                }}
              >
                {emoji}
              </button>
            ))}
          </div>
        )}
        {confirming && (
          <div class="confirm" role="alert">
            Delete this message?{' '}
            <button
              type="button"
              class="danger small"
              onClick={() => {
                setConfirming(false);
                void model.remove(m.channel, m.id);
              }}
            >
              Delete
            </button>{' '}
            <button type="button" class="small" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </div>
        )}
      </div>
      {!deleted && !editing && (
        <div class="actions" role="toolbar" aria-label="Message actions">
          {canPost && (
            <button type="button" aria-label="Reply" title="Reply" onClick={() => onReply(m)}>
              <Icon name="reply" />
            </button>
          )}
          {canPost && (
            <button
              type="button"
              aria-label="Add a reaction"
              title="React"
              aria-expanded={picking}
              onClick={() => setPicking(!picking)}
            >
              <Icon name="react" />
            </button>
          )}
          {mine && canPost && (
            <button
              type="button"
              aria-label="Edit"
              title="Edit"
              onClick={() => {
                setDraft(m.text);
                setEditing(true);
              }}
            >
              <Icon name="edit" />
            </button>
          )}
          {(mine || canModerate) && (
            <button type="button" aria-label="Delete" title="Delete" onClick={() => setConfirming(true)}>
              <Icon name="trash" />
            </button>
          )}
        </div>
      )}
    </li>
  );
});
