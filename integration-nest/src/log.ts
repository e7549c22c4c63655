import type { LoggerService } from '@nestjs/common'

/** Nest's logger, kept quiet and remembered: the tests read what reached `error()`. */
export class CapturingLogger implements LoggerService {
  readonly errors: unknown[] = []
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.errors.push(message)
  }
}
