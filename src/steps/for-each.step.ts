import { IsArray, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepHandler } from 'src/steps/step-handler';

export const FOR_EACH_MAX_ITEMS = 10_000;
export const FOR_EACH_DEFAULT_MAX_ITEMS = 1000;
export const FOR_EACH_MAX_CONCURRENCY = 50;

/**
 * `steps` holds the steps run for each item: their shape is checked step by step by the flow compiler
 * (field paths like `steps[1].steps[0].url`), as a branch's cases are.
 */
export class ForEachStepDto extends StepBaseDto {
  @IsIn(['forEach']) declare type: 'forEach';
  /** JSONata: an array; a single value is one item; nothing is zero items. */
  @IsString() @MaxLength(10_000) items!: string;
  @IsArray() steps!: Array<Record<string, unknown>>;
  @IsOptional() @IsInt() @Min(1) @Max(FOR_EACH_MAX_CONCURRENCY) concurrency?: number;
  @IsOptional() @IsInt() @Min(1) @Max(FOR_EACH_MAX_ITEMS) maxItems?: number;
  @IsOptional() @IsIn(['stop', 'continue']) onItemError?: 'stop' | 'continue';
}

/**
 * `forEach` runs its steps once per item. The items are evaluated and the loop is driven by
 * src/executions/loops (one row per item, each item's outbound steps as their own jobs), the
 * expression and the steps are compiled by the flow compiler; this handler gives the registry the
 * type and its DTO.
 */
export const forEachStep: StepHandler<ForEachStepDto, null> = {
  type: 'forEach',
  dto: ForEachStepDto,
  pure: true,
  defaultAttempts: 1,
  compile() {
    return null;
  },
  async run() {
    throw new Error('a forEach is driven by the loop coordinator, not run as a single step');
  },
};
