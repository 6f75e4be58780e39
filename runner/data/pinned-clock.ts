// HDF5 stamps object headers with the wall clock, and h5wasm does not expose
// H5Pset_obj_track_times to turn that off. h5wasm's WebAssembly reads the time through
// Date.now, so pinning Date.now while a file is written makes the bytes reproducible.
// Only for writes whose HDF5 calls are synchronous: between them only microtasks can run.

/** Runs `write` with Date.now returning `epochMs`, and restores it whatever happens. */
export async function withPinnedClock<T>(epochMs: number, write: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => epochMs;
  try {
    return await write();
  } finally {
    Date.now = realNow;
  }
}
