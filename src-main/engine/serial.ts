/**
 * Runs tasks one after another. The engine's operations await PGP encryption
 * and file writes; without this, two updates arriving together could both see
 * the threshold reached, and a status could show an update half done.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(task)
    const settled = () => undefined
    this.tail = result.then(settled, settled)
    return result
  }
}
