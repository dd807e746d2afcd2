/**
 * Reading schedule coefficients for a batch. A batch carries one timestep per sample (training draws
 * them at random) or one timestep for all (sampling); either way the result broadcasts against x.
 */
import { tensor } from '../ops/create.ts';
import { gather, reshape } from '../ops/shape.ts';
import { ShapeError } from '../tensor/shape.ts';
import { type Tensor, tidy } from '../tensor/tensor.ts';

/** Timesteps: a [B] tensor of integers in [0, T) stored as floats, or one integer for the whole batch. */
export type Timestep = Tensor | number;

/**
 * table[t_b] for each sample b, shaped [B, 1, …, 1] (`rank` dimensions) to broadcast against an
 * x of that rank: the walk-through's `extract(a, t, x_shape)`. The table is copied onto t's backend
 * (in its precision) for the gather; t must hold integers in [0, table.length).
 */
export const extract = (table: ArrayLike<number>, t: Tensor, rank: number): Tensor => {
  if (t.shape.length !== 1) throw new ShapeError('extract', [t.shape], 'timesteps must be a 1-D tensor [B]');
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`extract: rank must be an integer ≥ 1, got ${rank}`);
  const B = t.shape[0];
  return tidy(() => reshape(gather(tensor(table, [table.length], t.backend), t, 0), [B, ...Array<number>(rank - 1).fill(1)]));
};

/** One timestep's entry, checked: an integer in [0, table.length). */
export const entry = (table: ArrayLike<number>, t: number): number => {
  if (!(Number.isInteger(t) && t >= 0 && t < table.length)) {
    throw new RangeError(`timestep ${t} is not an integer in [0, ${table.length})`);
  }
  return table[t];
};

/**
 * The coefficient table[t] as an operand for x (a tensor of rank `rank`): a host number when one
 * timestep serves the whole batch (no gather, no upload), else `extract`.
 */
export const coefficient = (table: ArrayLike<number>, t: Timestep, rank: number): Tensor | number =>
  typeof t === 'number' ? entry(table, t) : extract(table, t, rank);
