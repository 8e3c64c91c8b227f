// The screen is being written; until then the route shows its name.
export function History(props: { query: URLSearchParams }) {
  void props;
  return <h1>History</h1>;
}
