import 'reflect-metadata';
import { validateShape } from 'src/common/validate-shape';
import { EmailStepDto, emailStep } from 'src/steps/email.step';

const input = {
  event: { body: { to: ['a@example.com', 'b@example.com'], id: 42 } },
  steps: {},
  flow: { id: 'f', name: 'n', version: 1 },
  execution: { id: 'e' },
};
const ctx = {
  input,
  bindings: { secrets: { SMTP_PW: 'mail-pw' } },
  depth: 0,
  services: { slackApiUrl: '' },
};
const def = {
  id: 'mail',
  type: 'email',
  smtp: 'smtps://mailer:{{ $secrets.SMTP_PW }}@smtp.example.com',
  from: 'Shop <shop@example.com>',
  to: '{{ event.body.to }}',
  cc: 'c@example.com, d@example.com',
  subject: 'Order {{ event.body.id }}',
  html: '<p>{{ event.body.id }}</p>',
} as EmailStepDto;

describe('email step', () => {
  it('validates recipients and required fields', () => {
    expect(validateShape(EmailStepDto, def, 's').errors).toEqual([]);
    const { errors } = validateShape(
      EmailStepDto,
      { id: 'm', type: 'email', smtp: 'smtp://h', to: [1] },
      's',
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('s.from'),
        expect.stringContaining('s.to must be an address'),
        expect.stringContaining('s.subject'),
      ]),
    );
  });

  it('previews the message: recipients as lists, credentials masked', async () => {
    expect(await emailStep.preview!(emailStep.compile(def, 's'), def, ctx)).toEqual({
      request: {
        smtp: 'smtps://***@smtp.example.com',
        from: 'Shop <shop@example.com>',
        to: ['a@example.com', 'b@example.com'],
        cc: ['c@example.com', 'd@example.com'],
        subject: 'Order 42',
        html: '<p>42</p>',
      },
    });
  });

  it('fails finally when no recipient is left once rendered', async () => {
    const d = { ...def, to: '{{ event.body.none }}', cc: undefined };
    await expect(emailStep.preview!(emailStep.compile(d, 's'), d, ctx)).rejects.toMatchObject({
      retryable: false,
      message: 'the message has no recipient once rendered',
    });
  });
});
