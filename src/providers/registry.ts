import type { ModelId } from '../contract/models.js';
import type { Provider } from './types.js';

/** Which provider serves a model. With no channel configuration, `local` serves every model. */
export class ProviderRegistry {
  private readonly providers = new Map<string, Provider>();

  constructor(private readonly fallback: string) {}

  register(provider: Provider): this {
    this.providers.set(provider.name, provider);
    return this;
  }

  get(name: string): Provider | undefined {
    return this.providers.get(name);
  }

  all(): Provider[] {
    return [...this.providers.values()];
  }

  forModel(_model: ModelId): Provider {
    const provider = this.providers.get(this.fallback);
    if (!provider) throw new Error(`provider ${this.fallback} is not registered`);
    return provider;
  }
}
