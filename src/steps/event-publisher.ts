/**
 * The event bus as an `emit` step sees it. The step depends on this; src/events provides it
 * (EventsService), so the arrow runs from the bus down to the steps and never back.
 */

/** What an event type may hold (API.md `POST /events`, `emit`, event triggers): 1-200 of these. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_.:\-/]+$/;

/** Publishes an event to every enabled flow listening to its type (API.md `POST /events`, `emit`). */
export interface EventPublisher {
  publish(event: {
    type: string;
    data: unknown;
    idempotencyKey?: string;
    /** Depth of the executions it starts: 0 from the API, d+1 from an emit at depth d. */
    depth: number;
  }): Promise<{ eventId: string; executionIds: string[]; duplicate: boolean }>;
}
