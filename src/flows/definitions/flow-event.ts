/** The event as every expression sees it (API.md section 3, "The event"). */
export interface FlowEvent {
  id: string;
  type: 'webhook' | 'manual' | 'schedule' | 'event' | 'replay' | 'amqp' | 'mqtt' | 'nats' | 'batch';
  receivedAt: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  query?: Record<string, unknown>;
  body: unknown;
  name?: string;
  scheduledAt?: string;
  /** Broker triggers (API.md §11): where the message came from. */
  source?: {
    queue?: string;
    topic?: string;
    subject?: string;
    messageId?: string;
    redelivered?: boolean;
  };
  /** A trigger `batch` group's event (type `batch`): its members' whole events, in arrival order. */
  events?: FlowEvent[];
}
