import { IsIn, IsString, Matches, MaxLength } from 'class-validator';

export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_.:\-/]+$/;

export class EventTriggerDto {
  @IsIn(['event']) type!: 'event';
  @IsString()
  @MaxLength(200)
  @Matches(EVENT_TYPE_PATTERN, { message: 'event may hold letters, digits and _ . : - /' })
  event!: string;
}
