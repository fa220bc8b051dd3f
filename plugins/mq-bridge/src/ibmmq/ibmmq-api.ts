/**
 * The subset of the `ibmmq` package (IBM MQ's MQI for Node) the bridge calls, declared
 * structurally so this code type-checks without the package installed. Field and function
 * names are the package's own (ibmmq 2.x); see its types/index.d.ts.
 */

export interface MqError extends Error {
  mqcc: number;
  mqrc: number;
  mqrcstr?: string;
}

export type HConn = object;
export type HObj = object;
export type HMsg = object;

export interface MqMd {
  MsgId: Buffer;
  CorrelId: Buffer;
  Persistence: number;
  Format: string;
  BackoutCount: number;
}

export interface MqCno {
  Options: number;
  ClientConn?: MqCd;
  SecurityParms?: MqCsp;
}
export interface MqCd {
  ConnectionName: string;
  ChannelName: string;
}
export interface MqCsp {
  UserId: string;
  Password: string;
}
export interface MqOd {
  ObjectName: string;
  ObjectType: number;
}
export interface MqPmo {
  Options: number;
  OriginalMsgHandle: HMsg | undefined;
}
export interface MqGmo {
  Options: number;
  MatchOptions: number;
  WaitInterval: number;
  MsgHandle: HMsg | undefined;
}
export interface MqPd {
  Options: number;
}
export interface MqImpo {
  Options: number;
  ReturnedName: string | undefined;
}

/** The MQC constants the bridge uses. */
export interface MqConstants {
  MQCNO_CLIENT_BINDING: number;
  MQCNO_NONE: number;
  MQOT_Q: number;
  MQOO_OUTPUT: number;
  MQOO_INPUT_AS_Q_DEF: number;
  MQOO_FAIL_IF_QUIESCING: number;
  MQPER_PERSISTENT: number;
  MQPMO_SYNCPOINT: number;
  MQPMO_FAIL_IF_QUIESCING: number;
  MQGMO_SYNCPOINT: number;
  MQGMO_NO_WAIT: number;
  MQGMO_PROPERTIES_IN_HANDLE: number;
  MQGMO_FAIL_IF_QUIESCING: number;
  MQMO_NONE: number;
  MQIMPO_INQ_FIRST: number;
  MQIMPO_INQ_NEXT: number;
  MQIMPO_CONVERT_VALUE: number;
  MQFMT_NONE: string;
  MQRC_NO_MSG_AVAILABLE: number;
  MQRC_TRUNCATED_MSG_FAILED: number;
  MQRC_PROPERTY_NOT_AVAILABLE: number;
  MQRC_UNKNOWN_OBJECT_NAME: number;
  MQRC_Q_MGR_NAME_ERROR: number;
  MQRC_CONNECTION_BROKEN: number;
  MQRC_NOT_AUTHORIZED: number;
}

export interface IbmMq {
  MQC: MqConstants;
  MQCNO: new () => MqCno;
  MQCD: new () => MqCd;
  MQCSP: new () => MqCsp;
  MQOD: new () => MqOd;
  MQMD: new () => MqMd;
  MQPMO: new () => MqPmo;
  MQGMO: new () => MqGmo;
  MQCMHO: new () => object;
  MQDMHO: new () => object;
  MQSMPO: new () => object;
  MQIMPO: new () => MqImpo;
  MQPD: new () => MqPd;
  ConnxPromise(queueManager: string, cno: MqCno): Promise<HConn>;
  DiscPromise(hConn: HConn): Promise<void>;
  OpenPromise(hConn: HConn, od: MqOd, options: number): Promise<HObj>;
  ClosePromise(hObj: HObj, options: number): Promise<void>;
  PutPromise(hObj: HObj, md: MqMd, pmo: MqPmo, buf: Buffer): Promise<void>;
  /** Without a callback these run synchronously and throw an MqError on failure. */
  Cmit(hConn: HConn): void;
  Back(hConn: HConn): void;
  GetSync(hObj: HObj, md: MqMd, gmo: MqGmo, buf: Buffer): number;
  CrtMh(hConn: HConn, cmho: object): HMsg;
  DltMh(hConn: HConn, hMsg: HMsg, dmho: object): void;
  SetMp(
    hConn: HConn,
    hMsg: HMsg,
    smpo: object,
    name: string,
    pd: MqPd,
    value: string | number | boolean,
  ): void;
  InqMp(
    hConn: HConn,
    hMsg: HMsg,
    impo: MqImpo,
    pd: MqPd,
    name: string,
    buf: Buffer,
    cb: (error: MqError | null, name: string, value: unknown, length: number, type: number) => void,
  ): void;
}
