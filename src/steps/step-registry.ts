import { branchStep } from 'src/steps/branch.step';
import { delayStep } from 'src/steps/delay.step';
import { emitStep } from 'src/steps/emit.step';
import { httpStep } from 'src/steps/http.step';
import { slackStep } from 'src/steps/slack.step';
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
};

export const STEP_TYPES = Object.keys(STEP_HANDLERS);
