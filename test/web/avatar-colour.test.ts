import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AVATAR_PALETTE, avatarColour } from '../../web/src/avatar-colour.js';

// Common first names, as the ids a site's tokens and Parley's own accounts give them.
const NAMES =
  'alice bob carol dave eve frank grace heidi ivan judy mallory oscar peggy trent victor walter ann amy ben dan emma liam noah olivia sophia mia james lucas ella jack mike sara tom kim lee max zoe'.split(
    ' ',
  );

function spread(ids: readonly string[]): number[] {
  const counts: number[] = AVATAR_PALETTE.map(() => 0);
  for (const id of ids) counts[avatarColour(id)] = (counts[avatarColour(id)] ?? 0) + 1;
  return counts;
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const s = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('avatar colours', () => {
  for (const [label, prefix] of [
    ['plain ids', ''],
    ['local accounts', 'local:'],
  ] as const) {
    it(`spreads ${NAMES.length} common names over the palette (${label})`, () => {
      const counts = spread(NAMES.map((n) => prefix + n));
      const used = counts.filter((c) => c > 0).length;
      assert.ok(used >= 10, `${used} of ${AVATAR_PALETTE.length} colours used: ${counts.join(',')}`);
      assert.ok(Math.max(...counts) <= 6, `no colour holds more than 6: ${counts.join(',')}`);
    });
  }

  it('gives ids that differ in one character different colours more often than not', () => {
    const ids = NAMES.map((n) => `local:${n}`);
    let differ = 0;
    for (const id of ids) if (avatarColour(id) !== avatarColour(`${id}2`)) differ++;
    assert.ok(differ >= ids.length * 0.8, `${differ} of ${ids.length}`);
  });

  it('differs in hue from colour to colour (15° apart at least), not only in shade', () => {
    const hues = AVATAR_PALETTE.map((c) => {
      const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(c.slice(i, i + 2), 16) / 255) as [
        number,
        number,
        number,
      ];
      const max = Math.max(r, g, b);
      const d = max - Math.min(r, g, b);
      if (d < 0.1) return undefined; // the grey
      const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
      return (h * 60 + 360) % 360;
    }).filter((h): h is number => h !== undefined);
    for (let i = 0; i < hues.length; i++)
      for (let k = i + 1; k < hues.length; k++) {
        const apart = Math.min(
          Math.abs((hues[i] as number) - (hues[k] as number)),
          360 - Math.abs((hues[i] as number) - (hues[k] as number)),
        );
        assert.ok(apart >= 15, `${AVATAR_PALETTE[i]} and ${AVATAR_PALETTE[k]}: ${apart.toFixed(0)}°`);
      }
  });

  it('is the same colour for the same id, and an index of the palette', () => {
    for (const n of NAMES) {
      assert.equal(avatarColour(n), avatarColour(n));
      assert.ok(avatarColour(n) >= 0 && avatarColour(n) < AVATAR_PALETTE.length);
    }
  });

  it('carries white initials at 4.5:1 or more on every colour, and avatar.css has each in order', () => {
    for (const c of AVATAR_PALETTE) {
      const ratio = 1.05 / (luminance(c) + 0.05);
      assert.ok(ratio >= 4.5, `${c}: ${ratio.toFixed(2)}:1`);
    }
    const css = readFileSync(new URL('../../web/src/avatar.css', import.meta.url), 'utf8');
    const classes = [...css.matchAll(/\.avatar\.avatar-(\d+) \{\s*background: (#[0-9a-f]{6});/g)].map((m) => [
      Number(m[1]),
      m[2],
    ]);
    assert.deepEqual(
      classes,
      AVATAR_PALETTE.map((c, i) => [i, c]),
    );
  });
});
