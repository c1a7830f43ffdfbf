/**
 * A small name -> value registry for the things config files refer to by name (schedules, pruning
 * methods, quantizers). Names are matched exactly; a typo fails loudly with the list of known names
 * instead of silently falling back to a default.
 */
export class Registry<T> {
  private readonly entries = new Map<string, T>();

  /** `kind` labels error messages, e.g. 'pruning method' or 'pruning schedule'. */
  constructor(readonly kind: string) {}

  /** Adds `value` under `name`; throws if the name is empty or already taken. Returns `this`. */
  register(name: string, value: T): this {
    if (typeof name !== 'string' || name.length === 0) {
      throw new Error(`${this.kind} name must be a non-empty string; got ${JSON.stringify(name)}`);
    }
    if (this.entries.has(name)) {
      throw new Error(`${this.kind} '${name}' is already registered`);
    }
    this.entries.set(name, value);
    return this;
  }

  /** The value registered under `name`; throws naming the known names if there is none. */
  get(name: string): T {
    const value = this.entries.get(name);
    if (value === undefined && !this.entries.has(name)) {
      throw new Error(`unknown ${this.kind} '${name}'; known: ${this.knownList()}`);
    }
    return value as T;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Registered names, in registration order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  private knownList(): string {
    return this.entries.size === 0 ? '(none)' : this.names().join(', ');
  }
}
