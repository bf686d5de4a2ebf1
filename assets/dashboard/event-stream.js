/* A text/event-stream reader over fetch() (EventSource cannot send the Authorization header). */

/** Parses a text/event-stream body, calling onEvent(name, data) per frame;
 *  stops early (cancelling the stream) when onEvent returns true. */
export async function readEventStream(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let name = '';
  let data = [];
  let stop = false;
  const handleLine = (line) => {
    if (stop) return;
    if (line === '') {
      if (data.length) stop = onEvent(name || 'message', data.join('\n')) === true;
      name = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return; // keep-alive comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') name = value;
  };
  for (;;) {
    const { value, done } = await reader.read();
    let text = buffer + decoder.decode(value || new Uint8Array(), { stream: !done });
    const hold = !done && text.endsWith('\r') ? '\r' : ''; // a CRLF may be split across chunks
    if (hold) text = text.slice(0, -1);
    const lines = text.split(/\r\n|\r|\n/);
    buffer = (done ? '' : lines.pop()) + hold;
    lines.forEach(handleLine);
    if (done) { handleLine(''); return; }
    if (stop) { reader.cancel().catch(() => {}); return; }
  }
}
