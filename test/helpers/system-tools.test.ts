import { describe, expect, it } from 'vitest';
import { provisionSystemTools, SYSTEM_TOOLS, type ProvisionDeps } from './system-tools.js';

/** A machine whose PATH holds `present`; apt-get "installs" a package's commands by adding them. */
function machine(present: string[], opts: { isRoot?: boolean; aptGet?: string | null; aptAdds?: boolean } = {}) {
  const onPath = new Set(present);
  const calls: string[][] = [];
  const logs: string[] = [];
  const deps: ProvisionDeps = {
    findCommand: async (name) => (onPath.has(name) ? `/usr/bin/${name}` : null),
    isRoot: opts.isRoot ?? true,
    aptGet: opts.aptGet === undefined ? '/usr/bin/apt-get' : opts.aptGet,
    run: async (file, args) => {
      calls.push([file, ...args]);
      if (args[0] === 'install' && opts.aptAdds !== false) {
        for (const tool of SYSTEM_TOOLS) if (args.includes(tool.debianPackage)) onPath.add(tool.command);
      }
    },
    log: (line) => logs.push(line),
  };
  return { deps, calls, logs };
}

const ALL = SYSTEM_TOOLS.map((tool) => tool.command);
const ALL_BUT_CURL = ALL.filter((command) => command !== 'curl');

describe('provisionSystemTools', () => {
  it('does nothing on a machine that has every tool', async () => {
    const m = machine(ALL);
    expect(await provisionSystemTools(m.deps)).toEqual([]);
    expect(m.calls).toEqual([]);
  });

  it('installs the Debian packages of the missing tools with apt-get, as root', async () => {
    const m = machine(ALL.filter((command) => command !== 'curl' && command !== 'script'));
    expect(await provisionSystemTools(m.deps)).toEqual(['curl', 'bsdutils']);
    expect(m.calls).toEqual([
      ['/usr/bin/apt-get', 'update', '-qq'],
      ['/usr/bin/apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'curl', 'bsdutils'],
    ]);
    expect(m.logs.join('\n')).toContain('missing curl (for ');
  });

  it("installs a tool's companion packages with it", async () => {
    const tools = [
      { command: 'curl', debianPackage: 'curl', neededFor: 'x' },
      { command: 'chromium', debianPackage: 'chromium', alsoInstall: ['fonts-wqy-microhei'], neededFor: 'y' },
    ];
    const m = machine([]);
    expect(await provisionSystemTools(m.deps, tools)).toEqual(['curl', 'chromium', 'fonts-wqy-microhei']);
    expect(m.calls.at(-1)).toEqual(['/usr/bin/apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'curl', 'chromium', 'fonts-wqy-microhei']);
  });

  it('fails, naming the packages, where it cannot install', async () => {
    const notRoot = machine(ALL_BUT_CURL, { isRoot: false });
    await expect(provisionSystemTools(notRoot.deps)).rejects.toThrow(/the tests need curl .*apt-get install curl/);
    const noApt = machine(ALL_BUT_CURL, { aptGet: null });
    await expect(provisionSystemTools(noApt.deps)).rejects.toThrow(/install the Debian packages curl/);
    expect([...notRoot.calls, ...noApt.calls]).toEqual([]);
  });

  it('fails when the install leaves a tool missing', async () => {
    const m = machine(ALL_BUT_CURL, { aptAdds: false });
    await expect(provisionSystemTools(m.deps)).rejects.toThrow('yet curl is still not on PATH');
  });
});
