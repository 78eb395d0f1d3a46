import { useEffect, useState } from 'preact/hooks';
import type { UserInfo } from '../../../src/client/index.js';
import type { ChatModel } from '../chat-model.js';
import '../user-picker.css';

// Wait this long after the last key before asking the server (typing fast asks once).
const ASK_AFTER_MS = 150;

/**
 * A username field with suggestions from `GET /api/users?q=` (the start of the name): a list
 * of buttons under it; choosing one calls `onChoose`. `onInput` has the text as typed.
 */
export function UserPicker({
  model,
  label,
  value,
  onInput,
  onChoose,
}: {
  model: ChatModel;
  label: string;
  value: string;
  onInput: (text: string) => void;
  onChoose: (user: UserInfo) => void;
}) {
  const [found, setFound] = useState<readonly UserInfo[]>([]);
  useEffect(() => {
    const q = value.trim();
    if (q === '') {
      setFound([]);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      model.findUsers(q).then(
        (users) => current && setFound(users.filter((u) => u.id !== model.me.id)),
        () => current && setFound([]),
      );
    }, ASK_AFTER_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [value]);
  return (
    <div class="user-picker">
      <label>
        {label}
        <input
          name="username"
          required
          autocomplete="off"
          value={value}
          placeholder="alice"
          onInput={(e) => onInput(e.currentTarget.value)}
        />
      </label>
      {found.length > 0 && (
        <ul class="suggestions" aria-label="Matching users">
          {found.map((u) => (
            <li key={u.id}>
              <button type="button" class="suggestion" onClick={() => onChoose(u)}>
                {u.username}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The one user of `found` named `name` (case-insensitively), or why there is none. */
export function exactlyNamed(found: readonly UserInfo[], name: string): UserInfo | string {
  const same = found.filter((u) => u.username.toLowerCase() === name.trim().toLowerCase());
  if (same.length === 1) return same[0] as UserInfo;
  if (same.length > 1) return `Several users are named ${name.trim()}: choose one from the list.`;
  return `No user is named ${name.trim()}.`;
}
