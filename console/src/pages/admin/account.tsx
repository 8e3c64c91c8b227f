// The screen is being written; until then the route shows its name.
export function AdminAccount(props: { id: string }) {
  void props;
  return <h1>AdminAccount</h1>;
}
