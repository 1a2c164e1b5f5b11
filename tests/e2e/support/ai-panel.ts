import type { Locator, Page } from 'playwright-core';

/**
 * Locators and steps for the IDE's AI features, by the names people (and screen readers) see, so an AI
 * step in an e2e test reads like what a person does.
 */
export function aiPanel(page: Page) {
  const panel = page.locator('#ide-ai');
  const question = panel.getByLabel('Question about the code');
  return {
    panel,
    question,
    send: panel.getByRole('button', { name: 'Send' }),
    stop: panel.getByRole('button', { name: 'Stop the answer' }),
    save: panel.getByRole('button', { name: 'Save the conversation to the workspace…' }),
    clear: panel.getByRole('button', { name: 'Clear the conversation' }),
    /** Shown instead of the conversation when no model is configured. */
    setUpInstructions: panel.getByText('No model is configured', { exact: true }),
    turns: panel.locator('.ai-turn'),
    /** The rendered answer of the latest question. */
    lastAnswer: panel.locator('.ai-turn').last().locator('.markdown'),
    lastError: panel.locator('.ai-turn').last().getByRole('alert'),

    async open(): Promise<void> {
      if (await panel.isVisible()) return;
      await page.getByRole('button', { name: /^Show the AI panel/ }).click();
      await panel.waitFor();
    },

    async ask(text: string): Promise<void> {
      await question.fill(text);
      await question.press('Enter');
    },

    /** Waits until no answer is on its way any more (done, failed or stopped). */
    async settled(timeout = 120_000): Promise<void> {
      await panel.getByRole('button', { name: 'Send' }).waitFor({ timeout });
    },

    /** Saves the conversation; `path` replaces the default `.keel/chats/<date>.md` when given. */
    async saveAs(path?: string): Promise<void> {
      await panel.getByRole('button', { name: 'Save the conversation to the workspace…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Save the conversation' });
      if (path !== undefined) await dialog.getByLabel('Path in the workspace').fill(path);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await panel.getByText(/^Saved to /).waitFor();
    },
  };
}

/** Selects whole lines `from`–`to` (1-based) of the open file in the editor. */
export async function selectLines(page: Page, from: number, to: number): Promise<void> {
  const lines = page.locator('.code-editor .view-line');
  await lines.nth(from - 1).click();
  await page.keyboard.press('Home');
  await page.keyboard.press('Home');
  await page.keyboard.down('Shift');
  for (let line = from; line <= to; line += 1) await page.keyboard.press('ArrowDown');
  await page.keyboard.up('Shift');
}

/**
 * Right-clicks line `line` of the editor (inside the selection made by {@link selectLines}, so the selection
 * stays) and picks an entry of its context menu, e.g. "Explain selection".
 */
export async function editorContextMenu(
  page: Page,
  entry: 'Explain selection' | 'Rewrite selection…',
  line = 1,
): Promise<void> {
  await page
    .locator('.code-editor .view-line')
    .nth(line - 1)
    .click({ button: 'right', position: { x: 4, y: 4 } });
  const item = page.getByRole('menuitem', { name: entry, exact: true });
  await item.waitFor();
  // Monaco listens for clicks on a menu item only 100 ms after drawing the menu (so the right-click's own
  // mouse-up cannot pick an entry): a click before then is swallowed and the menu stays. Click until it closes.
  await item.hover();
  for (let attempt = 0; ; attempt += 1) {
    await item.click();
    try {
      await item.waitFor({ state: 'detached', timeout: 1_000 });
      return;
    } catch (error) {
      if (attempt >= 4) throw error;
    }
  }
}

/** The rewrite flow over the editor: instruction dialog, progress, review with Accept and Reject. */
export function rewriteReview(page: Page) {
  const review = page.locator('.ai-review');
  return {
    review,
    instructionDialog: page.getByRole('dialog', { name: /^Rewrite / }),
    accept: review.getByRole('button', { name: /^Accept the change/ }),
    reject: review.getByRole('button', { name: 'Reject the change' }),
    stop: review.getByRole('button', { name: 'Stop the rewrite' }),
    /** The diff editor with the proposed change. */
    diff: review.locator('.monaco-diff-editor'),
    problem: review.getByRole('alert'),
    retry: review.getByRole('button', { name: /^(Try again|Rewrite the current version)$/ }),

    /** Types the instruction into the dialog that "Rewrite selection…" opens and starts the rewrite. */
    async instruct(instruction: string): Promise<void> {
      const dialog = page.getByRole('dialog', { name: /^Rewrite / });
      await dialog.getByLabel('What should change?').fill(instruction);
      await dialog.getByRole('button', { name: 'Rewrite' }).click();
    },

    /** Waits for the change to be ready for review (or for the rewrite to fail). */
    async ready(timeout = 120_000): Promise<Locator> {
      await review
        .getByRole('button', { name: /^(Accept the change|Try again|Rewrite the current version)/ })
        .first()
        .waitFor({ timeout });
      return review;
    },
  };
}
