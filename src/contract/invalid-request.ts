/**
 * A request that breaks a rule of the contract (a submit rule, an unknown answer version): the
 * client's mistake, named by the field or header at fault. The API answers it with a 400.
 */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest';
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string, param?: string) => new InvalidRequest(message, param);
