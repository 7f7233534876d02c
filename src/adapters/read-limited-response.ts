/**
 * Reads at most `maxBytes` of a fetch Response's body, then cancels the rest: an error page of
 * megabytes (a proxy's, a misconfigured endpoint's) must not be held in memory whole, and closeloop
 * keeps only a few hundred characters of it anyway. Cancelling closes the connection instead of
 * returning it to the pool, which is cheaper than reading 50 MB to reuse it.
 */

/** How much of an error body a client reads: more than any vendor's error says. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export async function readLimitedText(response: Response, maxBytes: number): Promise<string> {
  const body = response.body;
  if (body === null) return '';
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    const room = maxBytes - size;
    if (value.byteLength >= room) {
      text += decoder.decode(value.subarray(0, room));
      await reader.cancel().catch(() => undefined);
      return `${text}… [cut at ${maxBytes} bytes]`;
    }
    size += value.byteLength;
    text += decoder.decode(value, { stream: true });
  }
}
