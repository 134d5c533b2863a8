import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyController } from 'src/auth/api-key.controller';
import { ApiKeyEntity } from 'src/auth/api-key.entity';
import { ApiKeyGuard } from 'src/auth/api-key.guard';
import { ApiKeyService } from 'src/auth/api-key.service';

/** Global so that every feature controller can use the guard. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ApiKeyEntity])],
  controllers: [ApiKeyController],
  providers: [ApiKeyGuard, ApiKeyService],
  exports: [ApiKeyGuard, TypeOrmModule],
})
export class AuthModule {}
