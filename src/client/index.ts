/** Parley's client SDK for browsers and Node: `ParleyClient` and the types it hands out. */

export { CloseCode, isReconnectable } from '../protocol/close-codes.js';
export { ERRORS, type ErrorCode } from '../protocol/error-catalogue.js';
export type {
  Attachment,
  ChannelDetail,
  ChannelInfo,
  ChannelKind,
  Message,
  Role,
  SearchHit,
  ServerLimits,
  UserInfo,
} from '../protocol/frames.js';
export {
  type Ack,
  type ClosedEvent,
  type ConnectionState,
  type CreateChannelOptions,
  type DisconnectedEvent,
  type HistoryOptions,
  type HistoryPage,
  type MemberEvent,
  ParleyClient,
  type ParleyClientEvents,
  type ParleyClientOptions,
  type PresenceEvent,
  type PublishOptions,
  type ResetEvent,
  type SubscribeOptions,
  type SubscribeResult,
  type TypingEvent,
  type UnsubscribedEvent,
  type UpdateEvent,
  type Welcome,
} from './parley-client.js';
export {
  ConnectionLostError,
  errorCodeForClose,
  ParleyClientError,
  type ParleyClientErrorOptions,
} from './parley-client-error.js';
export { type Disposer, type Listener, TypedEmitter } from './typed-emitter.js';
export { httpBaseOf, type UploadFile, type UploadTarget, uploadAttachment } from './upload-attachment.js';
export type {
  WebSocketCloseEventLike,
  WebSocketConstructor,
  WebSocketErrorEventLike,
  WebSocketLike,
  WebSocketMessageEventLike,
} from './web-socket-like.js';
