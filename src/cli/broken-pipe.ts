/**
 * `autoresearch <command> | head`: once the reader has gone, writes fail with EPIPE. That is not
 * the command's failure: the output nobody reads is dropped and the command ends as it would
 * have (a session keeps its guarantees: it goes on and records everything). Other stream errors
 * stay fatal.
 */
export function dropOutputToClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") return;
      throw error;
    });
  }
}
