import { IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { EVENT_TYPE_PATTERN } from 'src/steps/event-publisher';

export class EventTriggerDto {
  @IsIn(['event']) type!: 'event';
  @IsString()
  @MaxLength(200)
  @Matches(EVENT_TYPE_PATTERN, { message: 'event may hold letters, digits and _ . : - /' })
  event!: string;
}
