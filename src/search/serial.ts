/**
 * One at a time, in the order asked: decisions of experiments that finish together wait for
 * each other, so each is made against the best as the previous one left it.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // The next task waits for this one whether it succeeded or not.
    this.tail = result.catch(() => {});
    return result;
  }
}
