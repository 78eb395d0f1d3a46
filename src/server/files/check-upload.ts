import { open, rm } from 'node:fs/promises';
import { fileTypeFromFile } from 'file-type';
import sharp from 'sharp';
import { ParleyError } from '../../protocol/error-catalogue.js';
import type { CheckedUpload } from './checked-upload.js';

/** An upload as it arrived, spooled to a local file. */
export interface SpooledUpload {
  readonly path: string;
  readonly size: number;
  /** The name the client gave (untrusted). */
  readonly name: string;
  /** The Content-Type the client gave (untrusted: only used to notice a fake image). */
  readonly declaredType: string;
}

/** What uploads are checked against. */
export interface UploadRules {
  readonly types: readonly string[];
  readonly maxPixels: number;
}

/** The longest thumbnail side, in pixels. */
export const THUMBNAIL_SIDE = 320;

// Raster images Parley re-encodes (without metadata) and previews.
const IMAGES = new Map<string, 'jpeg' | 'png' | 'gif' | 'webp'>([
  ['image/jpeg', 'jpeg'],
  ['image/png', 'png'],
  ['image/gif', 'gif'],
  ['image/webp', 'webp'],
]);
const IMAGE_NAME = /\.(png|jpe?g|gif|webp|bmp|tiff?|heic|heif|avif|svg|ico)$/i;
// Bytes read to tell text from binary when no file signature matched.
const TEXT_PROBE = 64 * 1024;

/**
 * Checks a spooled upload (issue 16): its type is sniffed from its bytes (never taken from its
 * name or Content-Type) and must be allowed; a file whose name or declared type says image but
 * whose bytes are not one is refused (`not_an_image`); an image is decoded and re-encoded
 * without its metadata (EXIF, GPS position, XMP, ICC comments), turned upright by its EXIF
 * orientation, and gets a WebP thumbnail. sharp does this work on libuv's thread pool, off the
 * event loop. The files it writes are `path + '.clean'` and `path + '.thumb'`; the caller
 * removes them with `removeChecked`.
 */
export async function checkUpload(upload: SpooledUpload, rules: UploadRules): Promise<CheckedUpload> {
  const name = safeName(upload.name);
  const sniffed =
    (await fileTypeFromFile(upload.path))?.mime ??
    ((await looksLikeText(upload.path)) ? 'text/plain' : undefined);
  const claimsImage = upload.declaredType.toLowerCase().startsWith('image/') || IMAGE_NAME.test(name);
  if (claimsImage && (sniffed === undefined || !sniffed.startsWith('image/')))
    throw new ParleyError('not_an_image', `"${name}" claims to be an image, but its bytes are not one`);
  if (sniffed === undefined || !rules.types.includes(sniffed))
    throw new ParleyError(
      'file_type_refused',
      `files of type ${sniffed ?? 'unknown'} are not accepted here`,
      {
        details: { accepted: rules.types },
      },
    );
  const format = IMAGES.get(sniffed);
  if (format === undefined) return { name, type: sniffed, path: upload.path, size: upload.size };

  const animated = format === 'gif' || format === 'webp';
  const options = { animated, limitInputPixels: rules.maxPixels, failOn: 'error' as const };
  const clean = `${upload.path}.clean`;
  const thumb = `${upload.path}.thumb`;
  try {
    const meta = await sharp(upload.path, options).metadata();
    // sharp drops metadata unless told to keep it: the stored image has no EXIF, no GPS.
    let image = sharp(upload.path, options);
    if ((meta.pages ?? 1) === 1) image = image.rotate();
    const out = await image.toFormat(format).toFile(clean);
    const stored = await sharp(clean, { ...options, animated: false })
      .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toFile(thumb);
    const height = meta.pageHeight ?? out.height;
    return {
      name,
      type: sniffed,
      path: clean,
      size: out.size,
      width: out.width,
      height: (meta.pages ?? 1) > 1 ? height : out.height,
      thumbnail: { path: thumb, size: stored.size, type: 'image/webp' },
    };
  } catch (error) {
    await removeChecked(upload.path);
    if (error instanceof ParleyError) throw error;
    const message = error instanceof Error ? error.message : '';
    if (/pixel limit/i.test(message))
      throw new ParleyError('file_too_large', `the image has more than ${rules.maxPixels} pixels`);
    throw new ParleyError('not_an_image', `"${name}" is not an image that can be read`, { cause: error });
  }
}

/** Removes a spooled upload and what `checkUpload` wrote beside it. */
export async function removeChecked(path: string): Promise<void> {
  await Promise.all([path, `${path}.clean`, `${path}.thumb`].map((p) => rm(p, { force: true })));
}

/** The file's name without any path, control or bidi characters, at most 255 characters. */
export function safeName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const cleaned = base.replace(/[\u0000-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  const name = [...cleaned].slice(0, 255).join('');
  return name === '' || name === '.' || name === '..' ? 'file' : name;
}

/** True when the file's first bytes are UTF-8 text without NUL characters. */
async function looksLikeText(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(TEXT_PROBE);
    const { bytesRead } = await handle.read(buffer, 0, TEXT_PROBE, 0);
    if (bytesRead === 0) return false;
    const bytes = buffer.subarray(0, bytesRead);
    if (bytes.includes(0)) return false;
    try {
      // `stream: true`: a character cut at the end of the probe is not an error.
      new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
      return true;
    } catch {
      return false;
    }
  } finally {
    await handle.close();
  }
}
