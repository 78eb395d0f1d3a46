import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatModel } from '../chat-model.js';

/**
 * A modal dialog (the browser's own <dialog>: focus kept inside, Escape closes). Its content
 * closes it through `close`, so the browser gives focus back to what opened it.
 */
function Dialog({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: (close: () => void) => ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} class="card" aria-label={title} onClose={onClose}>
      <h2>{title}</h2>
      {children(() => ref.current?.close())}
    </dialog>
  );
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Name, title and privacy of a new channel; the creator becomes its owner. */
export function NewChannelDialog({ model, onClose }: { model: ChatModel; onClose: () => void }) {
  const [name, setName] = useState('');
  const [title, setTitle] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Create a channel" onClose={onClose}>
      {(close) => (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!NAME.test(name))
              return setError('Use 1–64 of a–z, 0–9, "-" and "_", starting with a letter or digit.');
            setBusy(true);
            model
              .createChannel(name, { title: title.trim(), private: isPrivate })
              .then(close, (err: Error) => {
                setError(err.message);
                setBusy(false);
              });
          }}
        >
          <label>
            Name
            <input
              name="name"
              required
              value={name}
              placeholder="release-planning"
              onInput={(e) => setName(e.currentTarget.value.toLowerCase().replace(/\s+/g, '-'))}
            />
          </label>
          <label>
            Title (optional)
            <input
              name="title"
              maxLength={200}
              value={title}
              onInput={(e) => setTitle(e.currentTarget.value)}
            />
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={isPrivate}
              onChange={(e) => setPrivate(e.currentTarget.checked)}
            />{' '}
            Private: members only, by invitation
          </label>
          {error !== undefined && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              Create
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** Opens the direct-message channel with a user, by id. */
export function NewDmDialog({ model, onClose }: { model: ChatModel; onClose: () => void }) {
  const [userId, setUserId] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Start a direct message" onClose={onClose}>
      {(close) => (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setBusy(true);
            model.openDm(userId.trim()).then(close, (err: Error) => {
              setError(err.message);
              setBusy(false);
            });
          }}
        >
          <label>
            User id
            <input
              name="user_id"
              required
              value={userId}
              placeholder="local:alice or 42"
              onInput={(e) => setUserId(e.currentTarget.value)}
            />
          </label>
          <p class="hint">Tip: open a channel's member list and choose "Message" next to a name.</p>
          {error !== undefined && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <div class="row">
            <button type="submit" class="primary" disabled={busy}>
              Open
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
