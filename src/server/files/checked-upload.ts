/** A checked upload, spooled to local files, as the intake hands it over. */
export interface CheckedUpload {
  readonly name: string;
  readonly type: string;
  /** The file to store (an image re-encoded without its metadata). */
  readonly path: string;
  readonly size: number;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  /** Images only: the thumbnail's file, size and type. */
  readonly thumbnail?: { readonly path: string; readonly size: number; readonly type: string } | undefined;
}
