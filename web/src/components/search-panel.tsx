import { useEffect, useState } from 'preact/hooks';
import type { SearchHit } from '../../../src/client/index.js';
import type { ChatModel } from '../chat-model.js';
import { fullLabel, timeLabel } from '../format.js';
import { Icon } from './icon.js';
import { Highlighted } from './rich-text.js';

/** Results of a search across the reader's channels; choosing one opens its channel. */
export function SearchPanel({
  model,
  query,
  onClose,
}: {
  model: ChatModel;
  query: string;
  onClose: () => void;
}) {
  const [results, setResults] = useState<readonly SearchHit[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setResults(undefined);
    setError(undefined);
    model.search(query).then(
      (r) => live && setResults(r),
      (err: Error) => live && setError(err.message),
    );
    return () => {
      live = false;
    };
  }, [model, query]);

  return (
    <section class="search-results" aria-label="Search results">
      <header>
        <h2>Results for “{query}”</h2>
        <button type="button" class="icon" aria-label="Close search" onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      {error !== undefined && <p class="error">{error}</p>}
      {results === undefined && error === undefined && <p class="hint">Searching…</p>}
      {results?.length === 0 && <p class="hint">No messages match.</p>}
      <ul>
        {results?.map((r) => {
          const channel = model.channel(r.message.channel)?.summary;
          return (
            <li key={r.message.id}>
              <button
                type="button"
                class="result"
                onClick={() => {
                  onClose();
                  void model.open(r.message.channel);
                }}
              >
                <span class="meta">
                  <span class="where">
                    {channel?.kind === 'dm' ? channel.title : `#${channel?.title ?? r.message.channel}`}
                  </span>{' '}
                  <span class="author">{r.message.username}</span>{' '}
                  <time title={fullLabel(r.message.ts)}>
                    {new Date(r.message.ts).toLocaleDateString()} {timeLabel(r.message.ts)}
                  </time>
                </span>
                <span class="text">
                  <Highlighted text={r.message.text} ranges={r.highlights} />
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
