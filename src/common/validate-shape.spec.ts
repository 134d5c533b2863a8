import { IsOptional, IsString } from 'class-validator';
import { nearestName, reservedKeyErrors, validateShape } from 'src/common/validate-shape';

class ThingDto {
  @IsString() name!: string;
  @IsOptional() @IsString() timeoutMs?: string;
  @IsOptional() @IsString() headers?: string;
}

describe('nearestName', () => {
  const known = ['id', 'type', 'name', 'if', 'retry', 'timeoutMs', 'continueOnError', 'headers', 'methods'];
  it.each([
    ['timeout', 'timeoutMs'],
    ['method', 'methods'],
    ['heders', 'headers'],
    ['Headers', 'headers'],
    ['retyr', 'retry'],
    ['continueOnErrors', 'continueOnError'],
  ])('suggests %s → %s', (unknown, expected) => {
    expect(nearestName(unknown, known)).toBe(expected);
  });
  it.each(['zzzzzz', 'username', 'x', 'body', 'extra'])('suggests nothing for %s', (unknown) => {
    expect(nearestName(unknown, known)).toBeUndefined();
  });
});

describe('validateShape', () => {
  it('appends the nearest known field to an unknown one', () => {
    expect(validateShape(ThingDto, { name: 'a', timeout: 5, zzzzzz: 1 }, 'steps[0]').errors).toEqual([
      'property steps[0].timeout should not exist (did you mean timeoutMs?)',
      'property steps[0].zzzzzz should not exist',
    ]);
  });
  it('refuses __proto__, constructor and prototype keys, which class-transformer would drop', () => {
    const raw = JSON.parse('{"name":"a","__proto__":{"x":1},"constructor":1,"prototype":2}') as object;
    expect(validateShape(ThingDto, raw, 'trigger').errors).toEqual([
      'property trigger.__proto__ should not exist',
      'property trigger.constructor should not exist',
      'property trigger.prototype should not exist',
    ]);
  });
});

describe('reservedKeyErrors', () => {
  it('names every reserved key with its path, nested in objects and arrays', () => {
    const body = JSON.parse(
      '{"a":[{"__proto__":{}}],"b":{"c":{"constructor":1}},"ok":{"proto":1}}',
    ) as unknown;
    expect(reservedKeyErrors(body)).toEqual([
      'property a[0].__proto__ should not exist',
      'property b.c.constructor should not exist',
    ]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
