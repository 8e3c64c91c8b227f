// The screen is being written; until then the route shows its name.
export function AdminWebhooks(props: { query: URLSearchParams }) {
  void props;
  return <h1>AdminWebhooks</h1>;
}
