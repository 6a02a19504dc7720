import { InvalidArgumentError } from "commander";

/** A commander parser for an integer option within bounds, with an error naming the option. */
export function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}, got "${value}"`);
    }
    return n;
  };
}

/** A commander parser for a number in 0..1. */
export function fraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a number in 0..1, got "${value}"`);
    }
    return n;
  };
}

/** A commander parser for a number (an integer when `integer`) in min..max; an empty value is refused. */
export function number(name: string, min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(
        `${name} must be ${integer ? "an integer" : "a number"} in ${min}..${max}, got "${value}"`,
      );
    }
    return n;
  };
}
