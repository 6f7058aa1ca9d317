export interface IdSource {
  /** A new, unique, URL-safe action request id. */
  requestId(): string;
}
