/*
 * The broker trigger definition lives in src/flows/definitions/broker-trigger.dto.ts. These names are
 * handed on only for consumer-supervisor.service.ts and consumers/, whose imports move with their
 * next change; then this file goes.
 */
export {
  BROKER_TRIGGER_TYPES,
  DEFAULT_MQTT_QOS,
  DEFAULT_PREFETCH,
} from 'src/flows/definitions/broker-trigger.dto';
