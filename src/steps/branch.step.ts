import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional } from 'class-validator';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepHandler } from 'src/steps/step-handler';

export const MAX_BRANCH_CASES = 20;

/**
 * `cases` and `default` hold steps: their shape is checked case by case by the flow compiler (one
 * step DTO per type, with the field path `steps[2].cases[0].steps[1].url`), not here.
 */
export class BranchStepDto extends StepBaseDto {
  @IsIn(['branch']) declare type: 'branch';
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_BRANCH_CASES) cases!: Array<Record<string, unknown>>;
  @IsOptional() @IsArray() default?: Array<Record<string, unknown>>;
  @IsOptional() @IsIn(['first', 'all']) mode?: 'first' | 'all';
}

/** One case as the definition states it (checked by the flow compiler). */
export interface BranchCaseDefinition {
  id?: string;
  when: string;
  steps: Array<Record<string, unknown>>;
}

/**
 * `branch` runs the steps of the first case whose `when` is truthy (`mode: all`: of every such case,
 * in order), else its `default` steps. The walk through the cases is the step runner's
 * (src/executions/step-runner.service.ts) and the cases are compiled by the flow compiler, which
 * knows every step type; this handler gives the registry the type and its DTO.
 */
export const branchStep: StepHandler<BranchStepDto, null> = {
  type: 'branch',
  dto: BranchStepDto,
  pure: true,
  defaultAttempts: 1,
  compile() {
    return null;
  },
  async run() {
    throw new Error('a branch is walked by the step runner, not run as a single step');
  },
};
