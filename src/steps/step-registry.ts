import { amqpStep } from 'src/steps/amqp.step';
import { branchStep } from 'src/steps/branch.step';
import { delayStep } from 'src/steps/delay.step';
import { emailStep } from 'src/steps/email.step';
import { emitStep } from 'src/steps/emit.step';
import { forEachStep } from 'src/steps/for-each.step';
import { httpStep } from 'src/steps/http.step';
import { mqttStep } from 'src/steps/mqtt.step';
import { natsStep } from 'src/steps/nats.step';
import { slackStep } from 'src/steps/slack.step';
import { sqlStep } from 'src/steps/sql.step';
import { StepHandler } from 'src/steps/step-handler';
import { transformStep } from 'src/steps/transform.step';

/** Every step type, by its `type`. Adding one: a new file and a line here. */
export const STEP_HANDLERS: Record<string, StepHandler> = {
  [transformStep.type]: transformStep,
  [httpStep.type]: httpStep,
  [slackStep.type]: slackStep,
  [delayStep.type]: delayStep,
  [emitStep.type]: emitStep,
  [branchStep.type]: branchStep,
  [forEachStep.type]: forEachStep,
  [amqpStep.type]: amqpStep,
  [mqttStep.type]: mqttStep,
  [natsStep.type]: natsStep,
  [sqlStep.type]: sqlStep,
  [emailStep.type]: emailStep,
};

export const STEP_TYPES = Object.keys(STEP_HANDLERS);
