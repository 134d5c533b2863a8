import { IsIn, IsString, MaxLength } from 'class-validator';
import { CompiledExpression, compileExpression, ExpressionSyntaxError } from 'src/expressions/expression';
import { TemplateSyntaxError } from 'src/expressions/template';
import { StepBaseDto } from 'src/steps/step-base.dto';
import { StepHandler } from 'src/steps/step-handler';

export class TransformStepDto extends StepBaseDto {
  @IsIn(['transform']) declare type: 'transform';
  @IsString() @MaxLength(100_000) expression!: string;
}

/** Reshapes data with one JSONata expression; its value is the step's output. */
export const transformStep: StepHandler<TransformStepDto, CompiledExpression> = {
  type: 'transform',
  dto: TransformStepDto,
  pure: true,
  defaultAttempts: 1,
  compile(def, path) {
    try {
      return compileExpression(def.expression);
    } catch (e) {
      throw new TemplateSyntaxError(`${path}.expression`, e as ExpressionSyntaxError);
    }
  },
  async run(expr, _def, ctx) {
    return { kind: 'succeeded', output: (await expr.evaluate(ctx.input, ctx.bindings)) ?? null };
  },
};
