import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { UserInfo } from '../../../src/client/index.js';
import type { ChatModel } from '../chat-model.js';
import { exactlyNamed, UserPicker } from './user-picker.js';

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

/** Opens the direct-message channel with a user, found by name (suggestions as one types). */
export function NewDmDialog({ model, onClose }: { model: ChatModel; onClose: () => void }) {
  const [name, setName] = useState('');
  const [chosen, setChosen] = useState<UserInfo | undefined>(undefined);
  const open = async (user?: UserInfo) => {
    const target = user ?? chosen ?? exactlyNamed(await model.findUsers(name.trim()), name);
    if (typeof target === 'string') throw new Error(target);
    await model.openDm(target.id);
  };
  return (
    <FormDialog title="Start a direct message" submitLabel="Open" action={() => open()} onClose={onClose}>
      <UserPicker
        model={model}
        label="Username"
        value={name}
        onInput={(text) => {
          setName(text);
          setChosen(undefined);
        }}
        onChoose={(user) => {
          setName(user.username);
          setChosen(user);
        }}
      />
      <p class="hint">Type the start of a name and choose from the list.</p>
    </FormDialog>
  );
}
