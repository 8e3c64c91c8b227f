// The screen is being written; until then the route shows its name.
export function AdminAccounts() {
  return <h1>AdminAccounts</h1>;
}
