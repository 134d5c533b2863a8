import { Global, Module } from '@nestjs/common';
import { AuditReader } from 'src/audit/audit-reader.service';
import { AuditController } from 'src/audit/audit.controller';
import { AuditService } from 'src/audit/audit.service';

@Global()
@Module({ controllers: [AuditController], providers: [AuditService, AuditReader], exports: [AuditService] })
export class AuditModule {}
