import { Module } from '@nestjs/common';
import { ExecutionsModule } from 'src/executions/executions.module';
import { FlowsModule } from 'src/flows/flows.module';
import { SecretsModule } from 'src/secrets/secrets.module';
import { HookController } from 'src/triggers/hook.controller';
import { HookService } from 'src/triggers/hook.service';

@Module({
  imports: [FlowsModule, ExecutionsModule, SecretsModule],
  controllers: [HookController],
  providers: [HookService],
  exports: [HookService],
})
export class TriggersModule {}
