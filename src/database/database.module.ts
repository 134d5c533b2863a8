import { Global, Module } from '@nestjs/common';
import { Sql } from 'src/database/sql.service';

@Global()
@Module({ providers: [Sql], exports: [Sql] })
export class DatabaseModule {}
