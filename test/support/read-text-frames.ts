import * as ws from 'ws';

interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
  write(chunk: Buffer): void;
}

// ws's parser, exported at run time but absent from @types/ws.
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => FrameReceiver;
};

/** The text messages a WebSocket client reads from `bytes` (server frames, unmasked). */
export function readTextFrames(bytes: Buffer): string[] {
  const receiver = new Receiver({ isServer: false });
  const texts: string[] = [];
  receiver.on('message', (data, isBinary) => {
    if (isBinary) throw new Error('a binary frame');
    texts.push(data.toString('utf8'));
  });
  receiver.write(bytes);
  return texts;
}
