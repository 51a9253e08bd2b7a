import { CompacterError } from "@compacter/core";

/**
 * Part of a batch request failed (DeleteObjects, SendMessageBatch) though the call itself
 * succeeded. Retryable unless AWS says the caller is at fault (AccessDenied, a sender
 * fault): the same request would fail the same way, so the job goes to its DLQ at once.
 */
export class PartialBatchError extends CompacterError {
  constructor(message: string, options: { readonly callerAtFault: boolean } & ErrorOptions) {
    super(message, { ...options, retryable: !options.callerAtFault });
  }
}
