/** A Hugging Face directory that cannot be imported; the message names the file and the field or tensor. */
export class ImportError extends Error {
  override name = 'ImportError';
}
