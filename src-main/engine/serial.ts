/**
 * Runs tasks one after another. The engine's operations await PGP encryption
 * and file writes; without this, two updates arriving together could both see
 * the threshold reached.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve()
  private queued = 0

  run<T>(task: () => Promise<T> | T): Promise<T> {
    this.queued++
    const result = this.tail.then(task)
    const settled = () => void this.queued--
    this.tail = result.then(settled, settled)
    return result
  }

  /**
   * A task that only reads. With nothing queued it runs now, seeing what it
   * would see after the queue anyway; otherwise it waits its turn, so a status
   * never shows an update half done. A status poll is most of a server's load.
   */
  read<T>(task: () => T): Promise<T> {
    if (this.queued > 0) return this.run(task)
    try {
      return Promise.resolve(task())
    } catch (err) {
      return Promise.reject(err)
    }
  }
}
