import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChatModel } from '../chat-model.js';

/**
 * A modal form (the browser's own <dialog>: focus kept inside, Escape closes, focus goes back
 * to what opened it). Submitting runs `action`: the dialog closes when it resolves and shows
 * its error when it rejects (or throws before any request, for a check of its own).
 */
function FormDialog({
  title,
  submitLabel,
  action,
  onClose,
  children,
}: {
  title: string;
  submitLabel: string;
  action: () => Promise<void>;
  onClose: () => void;
  children: ComponentChildren;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const d = ref.current;
    if (d !== null && !d.open) d.showModal();
  }, []);
  const close = () => ref.current?.close();
  return (
    <dialog ref={ref} class="card" aria-label={title} onClose={onClose}>
      <h2>{title}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(undefined);
          Promise.resolve()
            .then(action)
            .then(close, (err: Error) => {
              setError(err.message);
              setBusy(false);
            });
        }}
      >
        {children}
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {submitLabel}
          </button>
          <button type="button" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Name, title and privacy of a new channel; the creator becomes its owner. */
export function NewChannelDialog({ model, onClose }: { model: ChatModel; onClose: () => void }) {
  const [name, setName] = useState('');
  const [title, setTitle] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const create = async () => {
    if (!NAME.test(name))
      throw new Error('Use 1–64 of a–z, 0–9, "-" and "_", starting with a letter or digit.');
    await model.createChannel(name, { title: title.trim(), private: isPrivate });
  };
  return (
    <FormDialog title="Create a channel" submitLabel="Create" action={create} onClose={onClose}>
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
        <input name="title" maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
      </label>
      <label class="check">
        <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.currentTarget.checked)} />{' '}
        Private: members only, by invitation
      </label>
    </FormDialog>
  );
}

/** Opens the direct-message channel with a user, by id. */
export function NewDmDialog({ model, onClose }: { model: ChatModel; onClose: () => void }) {
  const [userId, setUserId] = useState('');
  return (
    <FormDialog
      title="Start a direct message"
      submitLabel="Open"
      action={() => model.openDm(userId.trim())}
      onClose={onClose}
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
    </FormDialog>
  );
}
