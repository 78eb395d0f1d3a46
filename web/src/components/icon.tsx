import '../icon.css';

/**
 * The page's icons, drawn as inline SVG in the text colour: emoji and symbol characters
 * render as empty boxes where no emoji font is installed. Presentation attributes only (no
 * `style`), so the page's Content-Security-Policy holds. Decorative: the button around an icon
 * carries its name (`aria-label`).
 */

const PATHS = {
  menu: 'M3 6h18M3 12h18M3 18h18',
  lock: 'M6 11h12v10H6zM8.5 11V7.5a3.5 3.5 0 0 1 7 0V11',
  reply: 'M9 14 4 9l5-5M4 9h10.5a5.5 5.5 0 0 1 0 11H11',
  react: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM8.5 14.5a4.5 4.5 0 0 0 7 0M9 9.5h.01M15 9.5h.01',
  edit: 'M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4',
  trash: 'M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3',
  close: 'M6 6l12 12M18 6 6 18',
  external: 'M14 4h6v6M20 4l-9 9M18 14v6H4V6h6',
  plus: 'M12 5v14M5 12h14',
  replied: 'M6 4v7a4 4 0 0 0 4 4h9M15 11l4 4-4 4',
  attach: 'M21 11.5 12.5 20a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5L10.5 18a2 2 0 0 1-3-3L15 7.5',
} as const;

/** The name of one of the page's icons. */
export type IconName = keyof typeof PATHS;

/** One icon, 1em square, in the current text colour. */
export function Icon({ name }: { name: IconName }) {
  return (
    <svg
      class="icon-svg"
      data-icon={name}
      viewBox="0 0 24 24"
      width="1em"
      height="1em"
      fill="none"
      stroke="currentColor"
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
