/** The topic a stream is written to: the sink's `topic` template with `{stream}` replaced. */
export function topicFor(template: string, stream: string): string {
  return template.replace(/\{stream\}/g, stream);
}
